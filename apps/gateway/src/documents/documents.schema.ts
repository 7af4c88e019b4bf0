import { z } from 'zod';

export const MAX_DOCUMENT_CHARS = 2_000_000;
const ID_PATTERN = /^[A-Za-z0-9._:\-/]+$/;

export const documentIdSchema = z.string().min(1).max(200).regex(ID_PATTERN, 'may contain letters, digits and . _ : - / only');

export const ingestDocumentSchema = z.object({
  id: documentIdSchema.optional(),
  title: z.string({ required_error: 'is required' }).trim().min(1, 'must not be empty').max(500),
  content: z.string({ required_error: 'is required' }).min(1, 'must not be empty').max(MAX_DOCUMENT_CHARS),
  format: z.enum(['markdown', 'text']).default('markdown'),
  metadata: z.record(z.string(), z.string()).default({}),
  published_at: z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO-8601 date')
    .optional(),
  collection: z.string().max(200).optional(),
});

export type IngestDocumentBody = z.infer<typeof ingestDocumentSchema>;
