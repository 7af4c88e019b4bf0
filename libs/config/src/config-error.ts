/** A bad or missing environment variable; the message names the service and the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly service: string,
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`invalid configuration for ${service}: ${variable}: ${reason}`);
  }
}
