import { Alert } from '@mantine/core';
import { type Route, match } from './router';
import { Catalog } from './screens/Catalog';
import { ConnectionForm } from './screens/ConnectionForm';
import { ConnectionPage } from './screens/ConnectionPage';
import { Connections } from './screens/Connections';
import { Deliveries } from './screens/Deliveries';
import { DeliveryPage } from './screens/DeliveryPage';

/** The screen for the hash route; each gets its ids from the path. */
export function Screens({ route }: { route: Route }) {
  const { path, query } = route;
  if (path === '/connections') return <Connections />;
  if (path === '/connections/new') return <ConnectionForm key="new" />;
  let m = match('/connections/:id/edit', path);
  if (m) return <ConnectionForm key={`edit-${m.id}`} id={Number(m.id)} />;
  m = match('/connections/:id', path);
  if (m) return <ConnectionPage key={m.id} id={Number(m.id)} />;
  if (path === '/catalog') return <Catalog />;
  if (path === '/deliveries') return <Deliveries key={query.toString()} query={query} />;
  m = match('/deliveries/:id', path);
  if (m) return <DeliveryPage key={m.id} id={Number(m.id)} />;
  return <Alert color="red">Not found.</Alert>;
}
