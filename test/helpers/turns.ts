/**
 * Runs `work` while counting the turns other work got meanwhile (a setImmediate that keeps scheduling itself): a
 * step-by-step job lets it run between its steps, a job that holds the event loop gives it one or two turns in all.
 */
export async function turnsWhile<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let ticking = true;
  const tick = () => {
    turns += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await work(), turns };
  } finally {
    ticking = false;
  }
}
