/** Small helpers shared by benchmark scripts: argument lookup, progress lines, percentiles, topics. */
import { loadConfig } from '../common/config.ts';
import { createKafka, ensureTopics } from '../common/kafka.ts';
import { localCodec } from '../schemas/codec.ts';

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export function flag(name: string): boolean {
  return process.argv.includes(name);
}

/** A progress line on stderr, redrawn at most 5 times a second. */
export function progress(label: string, total: number): { tick: (n: number) => void; done: () => void } {
  let count = 0;
  let last = 0;
  const t0 = performance.now();
  const draw = (final: boolean) => {
    const pct = total > 0 ? Math.min(100, (count / total) * 100) : 100;
    const secs = (performance.now() - t0) / 1000;
    const line = `${label}: ${count}/${total} (${pct.toFixed(0)}%) ${secs.toFixed(1)}s`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${line}\n`);
  };
  return {
    tick(n: number) {
      count += n;
      const now = performance.now();
      if (now - last > 200) {
        last = now;
        draw(false);
      }
    },
    done() {
      draw(true);
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/**
 * Topics of their own for one benchmark run (a fresh prefix), a connected admin, the sum of a
 * group's committed offsets (how far a consumer under test got), and cleanup.
 */
export async function benchTopics(brokers: string, prefix: string, partitions = 8) {
  const config = loadConfig({}, { kafkaBrokers: [brokers], kafkaTopicPrefix: prefix, kafkaPartitions: partitions, mqttPort: 0, port: 0 });
  const kafka = createKafka([brokers], `bench-${prefix.replace(/\W+$/, '')}`);
  const admin = kafka.admin();
  await admin.connect();
  const topics = await ensureTopics(admin, config);
  return {
    config,
    kafka,
    topics,
    admin,
    codec: localCodec(),
    /** Records of `topic` that `groupId` has committed (0 while the group is still forming). */
    async committed(groupId: string, topic: string = topics.vitals): Promise<number> {
      try {
        const offs = await admin.fetchOffsets({ groupId, topics: [topic] });
        return offs[0]!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
      } catch {
        return 0;
      }
    },
    async close(o: { deleteTopics?: readonly string[] | boolean } = { deleteTopics: true }): Promise<void> {
      if (o.deleteTopics)
        await admin.deleteTopics({ topics: [...Object.values(topics), ...(Array.isArray(o.deleteTopics) ? o.deleteTopics : [])] }).catch(() => {});
      await admin.disconnect();
    },
  };
}
export type BenchTopics = Awaited<ReturnType<typeof benchTopics>>;
