import { countTokens } from './count-tokens';
import { splitSentences } from './sentences';

export interface Chunk {
  index: number;
  text: string;
  tokenCount: number;
  heading?: string;
}

export interface ChunkOptions {
  maxTokens?: number;
  overlapTokens?: number;
  format?: 'markdown' | 'text';
}

export const DEFAULT_CHUNK_MAX_TOKENS = 200;
export const DEFAULT_CHUNK_OVERLAP_TOKENS = 40;
/**
 * A chunk that is at least this full closes before a paragraph that would not fit whole,
 * so paragraphs are not cut in the middle when a clean break is cheap.
 */
export const PARAGRAPH_BREAK_MIN_FILL = 0.5;

interface Section {
  heading?: string;
  paragraphs: string[];
}

/** A piece that is never split further: a sentence, or a slice of an over-long one. */
interface Unit {
  text: string;
  tokens: number;
  paragraph: number;
  line: number;
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/u;
const FENCE = /^ {0,3}(```|~~~)/u;

/**
 * Token-based chunking with overlap. Chunks never cross a markdown heading (each chunk
 * carries the heading it sits under), prefer to break at paragraph boundaries, otherwise
 * at sentence boundaries, and only split inside a sentence (by words, then characters)
 * when the sentence alone exceeds maxTokens. The next chunk within a section starts with
 * the trailing sentences of the previous one, up to overlapTokens.
 * Every chunk has tokenCount ≤ maxTokens (countTokens).
 */
export function chunkText(text: string, opts: ChunkOptions = {}): Chunk[] {
  const maxTokens = opts.maxTokens ?? DEFAULT_CHUNK_MAX_TOKENS;
  const overlapTokens = opts.overlapTokens ?? Math.min(DEFAULT_CHUNK_OVERLAP_TOKENS, Math.floor(maxTokens / 2));
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new RangeError(`chunkText: maxTokens must be a positive integer, got ${String(opts.maxTokens)}`);
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new RangeError(`chunkText: overlapTokens must be an integer in [0, maxTokens), got ${String(opts.overlapTokens)}`);
  }
  const chunks: Chunk[] = [];
  for (const section of parseSections(text, opts.format ?? 'markdown')) {
    packSection(section, maxTokens, overlapTokens, chunks);
  }
  return chunks;
}

function parseSections(text: string, format: 'markdown' | 'text'): Section[] {
  const sections: Section[] = [{ paragraphs: [] }];
  let current = sections[0];
  let paragraph: string[] = [];
  let inFence = false;
  const endParagraph = () => {
    const p = paragraph.join('\n').trim();
    if (p) current.paragraphs.push(p);
    paragraph = [];
  };
  for (const line of text.normalize('NFC').split(/\r?\n/u)) {
    if (format === 'markdown' && FENCE.test(line)) {
      // A code block is one paragraph: blank lines and '#' inside it are content.
      if (!inFence) endParagraph();
      paragraph.push(line);
      inFence = !inFence;
      if (!inFence) endParagraph();
      continue;
    }
    if (inFence) {
      paragraph.push(line);
      continue;
    }
    const heading = format === 'markdown' ? HEADING.exec(line) : null;
    if (heading) {
      endParagraph();
      current = { heading: heading[2].trim() || undefined, paragraphs: [] };
      sections.push(current);
    } else if (line.trim() === '') {
      endParagraph();
    } else {
      paragraph.push(line);
    }
  }
  endParagraph();
  return sections.filter((s) => s.paragraphs.length > 0);
}

function unitsOf(paragraph: string, paragraphIndex: number, maxTokens: number): Unit[] {
  const units: Unit[] = [];
  paragraph.split('\n').forEach((line, lineIndex) => {
    for (const sentence of splitSentences(line)) {
      for (const piece of splitToFit(sentence, maxTokens)) {
        units.push({ text: piece, tokens: countTokens(piece), paragraph: paragraphIndex, line: lineIndex });
      }
    }
  });
  return units;
}

/** Splits an over-long sentence by words, and an over-long word by characters. */
function splitToFit(sentence: string, maxTokens: number): string[] {
  if (countTokens(sentence) <= maxTokens) return [sentence];
  const pieces: string[] = [];
  let current = '';
  for (const word of sentence.split(' ')) {
    const candidate = current ? `${current} ${word}` : word;
    if (countTokens(candidate) <= maxTokens) {
      current = candidate;
      continue;
    }
    if (current) pieces.push(current);
    current = '';
    if (countTokens(word) <= maxTokens) {
      current = word;
      continue;
    }
    let part = '';
    for (const ch of Array.from(word)) {
      if (part && countTokens(part + ch) > maxTokens) {
        pieces.push(part);
        part = '';
      }
      part += ch;
    }
    current = part;
  }
  if (current) pieces.push(current);
  return pieces;
}

function joinUnits(units: Unit[]): string {
  let out = '';
  units.forEach((u, i) => {
    if (i > 0) {
      const prev = units[i - 1];
      out += prev.paragraph !== u.paragraph ? '\n\n' : prev.line !== u.line ? '\n' : ' ';
    }
    out += u.text;
  });
  return out;
}

function sumTokens(units: Unit[]): number {
  return units.reduce((n, u) => n + u.tokens, 0);
}

function packSection(section: Section, maxTokens: number, overlapTokens: number, chunks: Chunk[]): void {
  let current: Unit[] = [];
  let hasNewContent = false;

  const flush = () => {
    const text = joinUnits(current);
    chunks.push({ index: chunks.length, text, tokenCount: countTokens(text), ...(section.heading ? { heading: section.heading } : {}) });
    current = overlapTail(current, overlapTokens);
    hasNewContent = false;
  };

  section.paragraphs.forEach((paragraph, p) => {
    const units = unitsOf(paragraph, p, maxTokens);
    const used = sumTokens(current);
    if (hasNewContent && used + sumTokens(units) > maxTokens && used >= maxTokens * PARAGRAPH_BREAK_MIN_FILL) flush();
    for (const unit of units) {
      if (hasNewContent && sumTokens(current) + unit.tokens > maxTokens) flush();
      // The overlap yields to new content: drop its oldest pieces until the unit fits.
      while (current.length > 0 && sumTokens(current) + unit.tokens > maxTokens) current.shift();
      current.push(unit);
      hasNewContent = true;
    }
  });
  if (hasNewContent) flush();
}

/** Trailing sentences worth at most overlapTokens; a too-long last sentence contributes its last words. */
function overlapTail(units: Unit[], overlapTokens: number): Unit[] {
  if (overlapTokens === 0 || units.length === 0) return [];
  const tail: Unit[] = [];
  let used = 0;
  for (let i = units.length - 1; i >= 0; i--) {
    if (used + units[i].tokens > overlapTokens) break;
    tail.unshift(units[i]);
    used += units[i].tokens;
  }
  if (tail.length > 0) return tail;
  const last = units[units.length - 1];
  const words = last.text.split(' ');
  let text = '';
  for (let i = words.length - 1; i > 0; i--) {
    const candidate = text ? `${words[i]} ${text}` : words[i];
    if (countTokens(candidate) > overlapTokens) break;
    text = candidate;
  }
  return text ? [{ ...last, text, tokens: countTokens(text) }] : [];
}
