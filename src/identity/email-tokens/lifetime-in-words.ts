/**
 * A link's lifetime as an email says it ("24 hours", "30 minutes"): the largest unit
 * that divides it, so a configured number reads as it was meant.
 */
export function lifetimeInWords(seconds: number): string {
  const units: readonly [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) return plural(seconds / size, name);
  }
  return plural(seconds, 'second');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
