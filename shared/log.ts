/**
 * The app's operational log: JSON lines on stdout/stderr, which the Functions host forwards to Application
 * Insights. Never pass tokens or request bodies here. An error is logged by its name, message and code, never its
 * stack: a stack trace tells an outsider who reads the log how the app is built, and says nothing the message and the
 * line that logged it do not.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, error?: unknown, fields?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (message, fields) => console.log(JSON.stringify({ level: 'info', message, ...fields })),
  error: (message, error, fields) =>
    console.error(
      JSON.stringify({
        level: 'error',
        message,
        ...fields,
        ...(error instanceof Error ? { error: described(error) } : error === undefined ? {} : { error: text(error) }),
      }),
    ),
};

function described(error: Error): { name: string; message: string; code?: string } {
  const { code } = error as Error & { code?: unknown };
  return { name: error.name, message: error.message, ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}) };
}

/** A thrown value that is not an Error: a scalar as its text; an object only by its kind (its contents could be anything). */
function text(value: unknown): string {
  if (typeof value === 'object' && value !== null) return `a thrown ${Object.prototype.toString.call(value)}`;
  return String(value);
}
