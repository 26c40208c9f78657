/**
 * A link's lifetime as an email says it (`expires_in`): "15 minutes", "1 hour",
 * "7 days". The largest unit that divides it exactly, so "90 minutes" stays exact
 * rather than becoming "1.5 hours".
 */
export function durationWords(seconds: number): string {
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
