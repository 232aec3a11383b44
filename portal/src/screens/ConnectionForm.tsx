import { Alert, Anchor, Button, Fieldset, Group, Loader, NativeSelect, NumberInput, Stack, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { V3, api } from '../api/client';
import { errorText, fieldErrors } from '../api/errors';
import type { AuthType, Connection, WebhookConfiguration } from '../api/types';
import { unwrap } from '../api/unwrap';
import { useLoad } from '../components/useLoad';
import { navigate } from '../router';
import { startKlaviyoAuthorization } from './klaviyo';

/** Each auth type's credentials, with the labels people (and tests) find them by. */
const AUTH_FIELDS: Record<AuthType, Array<{ key: string; label: string; secret: boolean }>> = {
  none: [],
  bearer: [{ key: 'token', label: 'Token', secret: true }],
  basic: [
    { key: 'username', label: 'Username', secret: false },
    { key: 'password', label: 'Password', secret: true },
  ],
  api_key: [
    { key: 'header_name', label: 'Header name', secret: false },
    { key: 'api_key', label: 'API key', secret: true },
  ],
};

const P = '/data/configuration';

export function ConnectionForm({ id }: { id?: number }) {
  const { value: existing, error } = useLoad(
    async () => (id === undefined ? null : unwrap(await api.GET(`${V3}/connections/{id}`, { params: { path: { id: String(id) } } }))),
    String(id),
  );
  if (error) return <Alert color="red">{error}</Alert>;
  if (existing === undefined) return <Loader aria-label="Loading" />;
  return <Form existing={existing} />;
}

function Form({ existing }: { existing: Connection | null }) {
  const config = (existing?.configuration ?? {}) as WebhookConfiguration;
  const [type, setType] = useState(existing?.type ?? 'webhook');
  const [url, setUrl] = useState(config.url ?? '');
  const [authType, setAuthType] = useState<AuthType>(config.auth_type ?? 'none');
  // Credentials are write-only: an edit sends them only when they were typed again.
  const [auth, setAuth] = useState<Record<string, string>>({});
  const [authTouched, setAuthTouched] = useState(!existing);
  const [headers, setHeaders] = useState<Array<[string, string]>>(Object.entries(config.extra_headers ?? {}));
  const [retryAttempts, setRetryAttempts] = useState<number | string>(config.retry_attempts ?? 5);
  const [timeoutMs, setTimeoutMs] = useState<number | string>(config.timeout_ms ?? 10_000);
  const [errors, setErrors] = useState<{ fields: Record<string, string>; general: string[] }>({ fields: {}, general: [] });
  const [busy, setBusy] = useState(false);

  const at = (pointer: string) => errors.fields[pointer];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      if (type === 'klaviyo') {
        const created = await api.POST(`${V3}/connections`, { body: { type: 'klaviyo', configuration: {} } });
        if (created.error) return setErrors(fieldErrors(created.error));
        const connection = created.data.data;
        const started = await startKlaviyoAuthorization(connection.id);
        if (started) setErrors({ fields: {}, general: [started] });
        return navigate(`/connections/${connection.id}`);
      }
      const configuration: WebhookConfiguration = {
        url,
        auth_type: authType,
        extra_headers: Object.fromEntries(headers.filter(([name]) => name.trim() !== '')),
        retry_attempts: Number(retryAttempts),
        timeout_ms: Number(timeoutMs),
      };
      if (authTouched) {
        configuration.auth_config = Object.fromEntries(AUTH_FIELDS[authType].map((f) => [f.key, auth[f.key] ?? '']));
      }
      const result = existing
        ? await api.PATCH(`${V3}/connections/{id}`, { params: { path: { id: String(existing.id) } }, body: { configuration } })
        : await api.POST(`${V3}/connections`, { body: { type: 'webhook', configuration } });
      if (result.error) return setErrors(fieldErrors(result.error));
      navigate(`/connections/${result.data.data.id}`);
    } catch (e) {
      setErrors({ fields: {}, general: [e instanceof Error ? e.message : errorText(e)] });
    } finally {
      setBusy(false);
    }
  };

  const title = existing ? `Edit connection #${existing.id}` : 'Add connection';
  return (
    <form onSubmit={submit} aria-label={title} noValidate>
      <Stack maw={640}>
        <Title order={1}>{title}</Title>
        <NativeSelect
          label="Type"
          value={type}
          disabled={!!existing}
          onChange={(e) => setType(e.currentTarget.value === 'klaviyo' ? 'klaviyo' : 'webhook')}
          data={[
            { value: 'webhook', label: 'Webhook' },
            { value: 'klaviyo', label: 'Klaviyo' },
          ]}
          error={at('/data/type')}
        />
        {type === 'webhook' && (
          <>
            <TextInput label="URL" type="url" inputMode="url" value={url} onChange={(e) => setUrl(e.currentTarget.value)} error={at(`${P}/url`)} />
            <NativeSelect
              label="Auth type"
              value={authType}
              onChange={(e) => {
                setAuthType(e.currentTarget.value as AuthType);
                setAuthTouched(true);
              }}
              data={[
                { value: 'none', label: 'None' },
                { value: 'bearer', label: 'Bearer token' },
                { value: 'basic', label: 'Basic' },
                { value: 'api_key', label: 'API key header' },
              ]}
              error={at(`${P}/auth_type`) ?? at(`${P}/auth_config`)}
            />
            {AUTH_FIELDS[authType].map((f) => (
              <TextInput
                key={`${authType}-${f.key}`}
                label={f.label}
                type={f.secret ? 'password' : 'text'}
                autoComplete="off"
                placeholder={existing && !authTouched ? 'unchanged' : undefined}
                value={auth[f.key] ?? ''}
                onChange={(e) => {
                  const next = e.currentTarget.value;
                  setAuth((a) => ({ ...a, [f.key]: next }));
                  setAuthTouched(true);
                }}
                error={at(`${P}/auth_config/${f.key}`)}
              />
            ))}
            <Fieldset legend="Extra headers">
              <Stack gap="xs">
                {headers.map(([name, value], i) => (
                  <Group key={i} align="end">
                    <TextInput
                      label={`Extra header ${i + 1} name`}
                      value={name}
                      onChange={(e) => {
                        const next = e.currentTarget.value;
                        setHeaders((h) => h.map((row, j) => (j === i ? [next, row[1]] : row)));
                      }}
                    />
                    <TextInput
                      label={`Extra header ${i + 1} value`}
                      value={value}
                      onChange={(e) => {
                        const next = e.currentTarget.value;
                        setHeaders((h) => h.map((row, j) => (j === i ? [row[0], next] : row)));
                      }}
                    />
                    <Button variant="subtle" color="red" onClick={() => setHeaders((h) => h.filter((_, j) => j !== i))}>
                      Remove header {i + 1}
                    </Button>
                  </Group>
                ))}
                {at(`${P}/extra_headers`) && (
                  <Alert color="red" role="alert">
                    {at(`${P}/extra_headers`)}
                  </Alert>
                )}
                <Button variant="light" onClick={() => setHeaders((h) => [...h, ['', '']])} w="fit-content">
                  Add header
                </Button>
              </Stack>
            </Fieldset>
            <NumberInput label="Retry attempts" min={0} max={10} value={retryAttempts} onChange={setRetryAttempts} error={at(`${P}/retry_attempts`)} />
            <NumberInput label="Timeout (ms)" min={1000} step={500} value={timeoutMs} onChange={setTimeoutMs} error={at(`${P}/timeout_ms`)} />
          </>
        )}
        {errors.general.length > 0 && (
          <Alert color="red" role="alert">
            {errors.general.join(' ')}
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={busy}>
            {type === 'klaviyo' && !existing ? 'Connect Klaviyo' : 'Save'}
          </Button>
          <Anchor href={existing ? `#/connections/${existing.id}` : '#/connections'}>Cancel</Anchor>
        </Group>
      </Stack>
    </form>
  );
}
