/** The thing asked for does not exist (HTTP 404, gRPC NOT_FOUND). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** The request is valid but the current state forbids it (HTTP 409, gRPC FAILED_PRECONDITION). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}
