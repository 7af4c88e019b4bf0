import { z } from 'zod';
import { bm25WeightSchema, fusionSchema, minCandidatesSchema, timeAnchorSchema, timeRangeMonthsSchema } from '../search/search-options';

/** Policies for what a single chat request may carry. */
export const MAX_CHAT_MESSAGES = 200;
export const MAX_MESSAGE_CHARS = 100_000;
export const MAX_TOP_K = 50;
export const MAX_OUTPUT_TOKENS = 32_768;

/** A data: URL image is carried in the JSON body, so BODY_LIMIT bounds it too. */
export const MAX_IMAGE_URL_CHARS = 20 * 1024 * 1024;
export const MAX_CONTENT_PARTS = 50;
const IMAGE_URL = /^(?:https?:\/\/\S+|data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+)$/i;

const textPart = z.object({ type: z.literal('text'), text: z.string().max(MAX_MESSAGE_CHARS) });

// OpenAI's image part; the proxy sends it only to an upstream that serves the model as multimodal (else 422).
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({
    url: z.string().max(MAX_IMAGE_URL_CHARS).regex(IMAGE_URL, 'must be an http(s) URL or a data:image/…;base64 URL'),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});

const contentPart = z.discriminatedUnion('type', [textPart, imagePart], {
  errorMap: (issue, ctx) => ({
    message: issue.code === z.ZodIssueCode.invalid_union_discriminator ? "must be a part of type 'text' or 'image_url'" : ctx.defaultError,
  }),
});

const content = z.union(
  [z.string().max(MAX_MESSAGE_CHARS), z.array(contentPart).min(1).max(MAX_CONTENT_PARTS)],
  {
    errorMap: (issue, ctx) => ({
      message:
        issue.code === z.ZodIssueCode.invalid_union
          ? 'must be a string or an array of content parts ({"type": "text", "text"} or {"type": "image_url", "image_url": {"url"}})'
          : ctx.defaultError,
    }),
  },
);

// Callback streaming: the answer is POSTed there in pieces (README "Chat API"); the guarded outbound client decides what is reachable.
const responseUrl = z
  .string()
  .max(2048)
  .url('must be an absolute URL')
  .refine((u) => /^https?:/i.test(u), 'must be an http or https URL');

// `months` is what asks for a time filter; an anchor or a candidate count alone would do nothing.
const timeRange = z
  .object({
    months: timeRangeMonthsSchema,
    anchor: timeAnchorSchema.optional(),
    min_candidates: minCandidatesSchema.optional(),
  })
  .strict();

const message = z.object({
  // 'developer' is what newer OpenAI clients send for the system prompt.
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    errorMap: () => ({ message: "must be one of 'system', 'developer', 'user', 'assistant'" }),
  }),
  content,
});

export const chatRequestSchema = z
  .object({
    model: z.string().max(200).optional(),
    messages: z.array(message, { required_error: 'is required' }).min(1, 'must contain at least one message').max(MAX_CHAT_MESSAGES),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    max_tokens: z.number().int().positive().max(MAX_OUTPUT_TOKENS).nullish(),
    max_completion_tokens: z.number().int().positive().max(MAX_OUTPUT_TOKENS).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    // Extensions over OpenAI's format; the official client forwards unknown body fields unchanged.
    rag: z.boolean().default(true),
    session_id: z.string().uuid('must be a uuid').optional(),
    persona: z.string().max(MAX_MESSAGE_CHARS).optional(),
    filters: z.record(z.string(), z.string()).optional(),
    top_k: z.number().int().min(1).max(MAX_TOP_K).optional(),
    collection: z.string().max(200).optional(),
    time_range: timeRange.optional(),
    fusion: fusionSchema.optional(),
    bm25_weight: bm25WeightSchema.optional(),
    response_url: responseUrl.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.messages.length > 0 && !body.messages.some((m) => m.role === 'user')) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['messages'], message: 'must contain a user message' });
    }
  });

export type ChatRequestBody = z.infer<typeof chatRequestSchema>;
