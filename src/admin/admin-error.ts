/** An admin request that cannot be done, with the HTTP status and a stable code for scripts. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "AdminError";
  }
}
