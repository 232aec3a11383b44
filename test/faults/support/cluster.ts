/** One `--role api` and N `--role worker` processes of the built CLI on one database. */
import type { Credentials } from '../../support/herald.js';
import { type HeraldProcess, createKeys, spawnHerald } from '../../support/process.js';
import type { FaultWorld } from './setup.js';

export interface Cluster {
  api: HeraldProcess;
  workers: HeraldProcess[];
  /** Every process, for alive checks and diagnostics. */
  all(): HeraldProcess[];
  pids(): number[];
  /** Starts a replacement worker (after a kill) and puts it in the list in place of `old`. */
  replaceWorker(old: HeraldProcess, name: string): Promise<HeraldProcess>;
  replaceApi(name: string): Promise<HeraldProcess>;
}

/** Creates the organization first (`keys create` migrates the fresh database), then the processes. */
export async function startCluster(world: FaultWorld, orgName: string, workerCount = 2): Promise<{ cluster: Cluster; org: Credentials }> {
  const org = await createKeys(world.env, orgName);
  const started = await Promise.all([
    spawnHerald({ env: world.env, role: 'api', name: 'api' }),
    ...Array.from({ length: workerCount }, (_, i) => spawnHerald({ env: world.env, role: 'worker', name: `worker-${i + 1}` })),
  ]);
  const cluster: Cluster = {
    api: started[0] as HeraldProcess,
    workers: started.slice(1),
    all: () => [cluster.api, ...cluster.workers],
    pids: () => cluster.all().map((p) => p.pid),
    async replaceWorker(old, name) {
      const next = await spawnHerald({ env: world.env, role: 'worker', name });
      cluster.workers = cluster.workers.map((w) => (w === old ? next : w));
      return next;
    },
    async replaceApi(name) {
      // The same port: clients keep their address across the restart.
      cluster.api = await spawnHerald({ env: world.env, role: 'api', name, port: cluster.api.port });
      return cluster.api;
    },
  };
  return { cluster, org };
}
