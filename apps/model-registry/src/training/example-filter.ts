import { createHash } from 'node:crypto';
import type { TrainingSettings } from './settings';

export interface RatedTurn {
  question: string;
  answer: string;
  score: number;
}

export type RejectReason = 'low_score' | 'too_short' | 'too_long';

export type FilterOutcome =
  | { accepted: true; question: string; answer: string; redactions: number; contentHash: string }
  | { accepted: false; reason: RejectReason };

/** Redacts every match of every pattern; returns the text and how many matches were replaced. */
export function scrub(text: string, patterns: string[], replacement: string): { text: string; redactions: number } {
  let redactions = 0;
  let out = text;
  for (const pattern of patterns) {
    out = out.replace(new RegExp(pattern, 'gu'), () => {
      redactions += 1;
      return replacement;
    });
  }
  return { text: out, redactions };
}

/** Duplicates are the same question and answer up to case and spacing. */
export function contentHash(question: string, answer: string): string {
  const norm = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/gu, ' ').trim();
  return createHash('sha256').update(`${norm(question)}\u0000${norm(answer)}`).digest('hex');
}

/**
 * Score, then length (of the scrubbed text, which is what would be trained on), then
 * scrubbing. Duplicates are caught by the store's unique hash, not here.
 */
export function filterRatedTurn(turn: RatedTurn, settings: TrainingSettings): FilterOutcome {
  if (turn.score < settings.min_score) return { accepted: false, reason: 'low_score' };
  const q = scrub(turn.question.trim(), settings.pii_patterns, settings.pii_replacement);
  const a = scrub(turn.answer.trim(), settings.pii_patterns, settings.pii_replacement);
  const shortest = Math.min(q.text.length, a.text.length);
  if (shortest < settings.min_chars) return { accepted: false, reason: 'too_short' };
  if (q.text.length + a.text.length > settings.max_chars) return { accepted: false, reason: 'too_long' };
  return { accepted: true, question: q.text, answer: a.text, redactions: q.redactions + a.redactions, contentHash: contentHash(q.text, a.text) };
}
