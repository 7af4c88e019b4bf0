/**
 * Canonical form used before tokenizing, hashing or comparing text.
 * NFC first: Korean input often arrives decomposed (NFD jamo from macOS file names and
 * some PDF extractors), and the same syllable must always produce the same tokens.
 */
export function normalize(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
}
