import { Alert, Code, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { V3, api } from '../api/client';
import { unwrap } from '../api/unwrap';
import { SchemaTree } from '../components/SchemaTree';
import { useLoad } from '../components/useLoad';

export function Catalog() {
  const { value, error } = useLoad(async () => unwrap(await api.GET(`${V3}/event-types`)), '');
  return (
    <>
      <Title order={1} mb="md">
        Event catalog
      </Title>
      {error && <Alert color="red">{error}</Alert>}
      {!value && !error && <Loader aria-label="Loading" />}
      <Stack>
        {value?.map((t) => (
          <Paper key={t.name} withBorder p="md" component="section" aria-label={t.name}>
            <Title order={2} size="h3">
              {t.name}
            </Title>
            <Text mb="sm">{t.description}</Text>
            <Title order={3} size="h5">
              Schema
            </Title>
            <SchemaTree schema={t.schema} />
            <Title order={3} size="h5" mt="sm">
              Sample payload
            </Title>
            <Code block>{JSON.stringify(t.sample, null, 2)}</Code>
          </Paper>
        ))}
      </Stack>
    </>
  );
}
