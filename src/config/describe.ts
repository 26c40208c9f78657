import type { SettingSchema } from './fields.ts';

/** What a setting accepts, in words, for error messages and the generated example. */
export function describeAllowed(schema: SettingSchema): string {
  if (schema.allowed) return schema.allowed;
  switch (schema.type) {
    case 'integer':
      return `an integer ${rangeOf(schema)}`.trimEnd();
    case 'number':
      return `a number ${rangeOf(schema)}`.trimEnd();
    case 'boolean':
      return 'true or false';
    case 'array':
      return schema.items ? `a list of ${plural(describeAllowed(schema.items))}` : 'a list';
    case 'string':
      return 'a string';
    default:
      return 'a valid value';
  }
}

function rangeOf(schema: SettingSchema): string {
  const { minimum, maximum } = schema;
  if (minimum !== undefined && maximum !== undefined) return `${minimum}-${maximum}`;
  if (minimum !== undefined) return `>= ${minimum}`;
  if (maximum !== undefined) return `<= ${maximum}`;
  return '';
}

function plural(description: string): string {
  return description.replace(/^an? (\w+)/, (_, noun: string) => `${noun}s`);
}

/** Renders a value the way a user would have typed it, for "got ..." in messages. */
export function showValue(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
