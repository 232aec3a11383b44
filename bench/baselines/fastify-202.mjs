// Reference for the ingest scenario: a bare Fastify route that parses the JSON body and
// answers 202, with no authentication, validation or storage. Herald's ingest rate is
// shown as a share of this one, measured on the same machine in the same run.
import Fastify from 'fastify';
import { serveRpc } from '../lib/rpc.mjs';

let app;

serveRpc({
  async start() {
    app = Fastify({ logger: false });
    let id = 0;
    app.post('/api/v3/event-subscriptions/events', async (request, reply) =>
      reply.code(202).send({
        data: { id: ++id, event_type: request.body.event_type, created_at: new Date().toISOString(), deliveries: 0 },
      }),
    );
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { url: `http://127.0.0.1:${app.server.address().port}/api/v3/event-subscriptions/events` };
  },
  async stop() {
    await app?.close();
    return true;
  },
});
