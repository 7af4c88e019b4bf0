import type { FeedbackRequestBody } from './feedback.schema';

const percent = (achieved: number, total: number): string => (total > 0 ? `${Math.round((achieved / total) * 100)}%` : 'n/a');

/**
 * The instruction the worker sends to the generation-proxy. Built here so every worker version,
 * including one that reads only `prompt`, writes feedback from the same facts.
 */
export function buildFeedbackPrompt(req: Pick<FeedbackRequestBody, 'memberId' | 'startDate' | 'endDate' | 'activity'>): string {
  const lines = [
    `Write short, encouraging, personal feedback for member ${req.memberId} about their activity from ${req.startDate.slice(0, 10)} to ${req.endDate.slice(0, 10)}.`,
    'Mention what went well and one concrete suggestion. Use only the facts below.',
  ];
  const { challenges } = req.activity;
  if (challenges.length === 0) {
    lines.push('The member took part in no challenges in this period.');
  } else {
    lines.push('Challenges:');
    for (const c of challenges) {
      const span = c.startDate && c.endDate ? ` (${c.startDate.slice(0, 10)} – ${c.endDate.slice(0, 10)})` : '';
      lines.push(`- ${c.title} [${c.category}]: ${c.achieved}/${c.total} achieved (${percent(c.achieved, c.total)})${span}`);
    }
  }
  return lines.join('\n');
}
