/**
 * The `k` best slots by score among those with `mask[slot] === 1` (ties: smaller id first),
 * best first. One pass with a bounded min-heap, O(n log k): at 100k chunks a full sort per
 * query would cost more than the scoring itself.
 */
export function topK(
  scores: ArrayLike<number>,
  mask: Uint8Array,
  idOf: (slot: number) => string,
  k: number,
  slots?: ArrayLike<number>,
): number[] {
  if (k <= 0) return [];
  // The root is the worst slot kept so far.
  const heap: number[] = [];
  const worse = (a: number, b: number): boolean => scores[a] < scores[b] || (scores[a] === scores[b] && idOf(a) > idOf(b));
  const down = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  const offer = (slot: number): void => {
    if (heap.length < k) {
      heap.push(slot);
      let i = heap.length - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i], heap[parent])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (worse(heap[0], slot)) {
      heap[0] = slot;
      down(0);
    }
  };
  if (slots === undefined) {
    for (let slot = 0; slot < mask.length; slot += 1) {
      // The cheap score test first: most slots lose to the current worst without a call.
      if (mask[slot] === 1 && (heap.length < k || scores[slot] >= scores[heap[0]])) offer(slot);
    }
  } else {
    for (let i = 0; i < slots.length; i += 1) {
      const slot = slots[i];
      if (mask[slot] === 1 && (heap.length < k || scores[slot] >= scores[heap[0]])) offer(slot);
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
}
