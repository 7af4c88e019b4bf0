/** The native API's one response shape, for successes and errors alike. */
export interface Envelope<T> {
  status: 'ok' | 'error';
  message: string;
  data: T;
}

export const ok = <T>(message: string, data: T): Envelope<T> => ({ status: 'ok', message, data });

export const failure = <T>(message: string, data: T): Envelope<T> => ({ status: 'error', message, data });

export interface FieldError {
  field: string;
  reason: string;
}
