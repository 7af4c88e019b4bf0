/** Dense vectors for chunks and queries (the local HashingEmbedder by default). Abstract for DI and fakes. */
export abstract class Embedder {
  abstract readonly name: string;
  abstract readonly dimensions: number;
  abstract embed(text: string): number[];
}

/** Vectors are L2-normalised by the embedder, so the dot product is the cosine. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let sum = 0;
  for (let i = 0; i < n; i += 1) sum += a[i] * b[i];
  return sum;
}
