/**
 * The app's operational log: JSON lines on stdout/stderr, which the Functions host forwards to Application
 * Insights. Never pass tokens or request bodies here.
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
        ...(error instanceof Error ? { error: { name: error.name, message: error.message, stack: error.stack } } : { error: String(error) }),
      }),
    ),
};
