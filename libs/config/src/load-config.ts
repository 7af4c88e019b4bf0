import { z } from 'zod';
import { ConfigError } from './config-error';

/**
 * Parses the environment against the service's shape. The first bad variable stops the boot
 * with "invalid configuration for <service>: <VARIABLE>: <reason>".
 */
export function loadConfig<S extends z.ZodRawShape>(
  service: string,
  shape: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const result = z.object(shape).safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  throw new ConfigError(service, variable, issue.message);
}
