import { Badge, Code, Text } from '@mantine/core';

interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

const typeOf = (s: JsonSchema): string => {
  const base = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? (s.enum ? 'enum' : 'any'));
  return base + (s.enum ? ` (${s.enum.map(String).join(', ')})` : '') + (s.format ? `, ${s.format}` : '');
};

/** A JSON schema as a nested list: each field, its type, whether required, its description. */
export function SchemaTree({ schema }: { schema: unknown }) {
  const s = (schema ?? {}) as JsonSchema;
  const entries = Object.entries(s.properties ?? {});
  if (entries.length === 0) return <Text c="dimmed">Any JSON object.</Text>;
  return (
    <ul className="schema-tree">
      {entries.map(([name, child]) => (
        <li key={name}>
          <Code>{name}</Code>{' '}
          <Text span size="sm" c="dimmed">
            {typeOf(child)}
          </Text>{' '}
          {s.required?.includes(name) && (
            <Badge size="xs" variant="outline">
              required
            </Badge>
          )}
          {child.description && <Text size="sm">{child.description}</Text>}
          {child.properties && <SchemaTree schema={child} />}
          {child.items?.properties && (
            <>
              <Text size="sm" c="dimmed">
                each item:
              </Text>
              <SchemaTree schema={child.items} />
            </>
          )}
        </li>
      ))}
    </ul>
  );
}
