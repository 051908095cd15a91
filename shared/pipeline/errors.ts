/**
 * Errors a caller can act on. They come back as a tool result with `isError` (and, on /tools/*, the matching HTTP
 * status); their messages are written for the caller and never carry stack traces, tokens or internal host names.
 * Anything else thrown is a bug: logged in full, answered as `internal_error`.
 */
export const TOOL_ERROR_STATUS = {
  invalid_arguments: 400,
  unauthenticated: 401,
  step_up_required: 401,
  forbidden: 403,
  out_of_scope: 403,
  unknown_tool: 404,
  not_found: 404,
  conflict: 409,
  approval_required: 428,
  approval_pending: 428,
  throttled: 429,
  rate_limited: 429,
  internal_error: 500,
  azure_error: 502,
  identity_unavailable: 503,
  audit_unavailable: 503,
  azure_timeout: 504,
  cancelled: 499,
} as const;

export type ToolErrorCode = keyof typeof TOOL_ERROR_STATUS;

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    readonly code: ToolErrorCode,
    message: string,
    /** Extra fields for the caller (never secrets), e.g. the Azure error code or a retry hint. */
    readonly details: Record<string, string | number> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get httpStatus(): number {
    return TOOL_ERROR_STATUS[this.code];
  }
}
