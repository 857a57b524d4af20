/** `wardstream token`: signs a development token with WARDSTREAM_JWT_SECRET (or the configured keys). */
import { type Command, Option } from 'commander';
import { loadConfig } from '../../common/config.ts';
import { parseTtl, ROLES, type Role, signToken } from '../../gateway/auth.ts';
import { authOf } from '../auth.ts';
import type { CliContext } from '../context.ts';
import { collect } from '../options.ts';

interface TokenOptions {
  readonly role: Role;
  readonly ward: readonly string[];
  readonly ttl: string;
  readonly sub?: string;
}

export function registerToken(program: Command, ctx: CliContext): void {
  program
    .command('token')
    .description('print a signed access token for the dashboard and WebSocket API')
    .addOption(new Option('--role <role>', 'role the token grants').choices(ROLES).makeOptionMandatory())
    .requiredOption('--ward <ward>', 'ward the token grants (repeat for several, or "*" for all)', collect)
    .option('--ttl <duration>', 'lifetime: 30m, 8h, 1d …', '1h')
    .option('--sub <name>', 'subject (default <role>-dev)')
    .action(async (o: TokenOptions) => {
      const config = loadConfig(ctx.env);
      ctx.out(`${await signToken(authOf(config), { sub: o.sub ?? `${o.role}-dev`, role: o.role, wards: o.ward, ttlSec: parseTtl(o.ttl) })}\n`);
    });
}
