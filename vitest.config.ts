import { defineConfig } from 'vitest/config';

/**
 * Two projects:
 *  - `unit` (test/unit): pure logic, no Kafka, PostgreSQL, Java, Mosquitto, Chromium or network
 *    (`npm run test:unit`);
 *  - `integration` (test/integration): real services, started once by test/global-setup.ts,
 *    which first provisions the system packages they need (deploy/local/provision.ts).
 * `npm test` runs both.
 */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: integration files share one Kafka broker; run at most two files at once.
    maxWorkers: 2,
    reporters: ['default'],
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
