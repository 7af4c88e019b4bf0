import { z } from 'zod';
import { parseAllowList } from './address-policy';

/**
 * `OUTBOUND_ALLOWLIST`: comma-separated hosts and CIDRs that user-supplied URLs may reach although they
 * are not public (e.g. "127.0.0.0/8,::1" for tests, "10.20.0.0/16,hooks.internal" for an in-cluster
 * receiver). Empty by default: only the public internet. A bad entry stops the boot naming it.
 */
export const outboundEnv = {
  OUTBOUND_ALLOWLIST: z
    .string()
    .default('')
    .superRefine((value, ctx) => {
      try {
        parseAllowList(value);
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: err instanceof Error ? err.message : String(err) });
      }
    }),
};
