/** `wardstream discharge`: removes a patient's ward assignment (a tombstone on patient-assignments). */
import type { Command } from 'commander';
import { writeAssignment } from '../assignment.ts';
import type { CliContext } from '../context.ts';

export function registerDischarge(program: Command, ctx: CliContext): void {
  program
    .command('discharge')
    .description("remove a patient's ward assignment")
    .requiredOption('--patient <id>', 'patient id')
    .action(async (o: { patient: string }) => {
      await writeAssignment(ctx, 'discharge', o.patient, null);
      ctx.out(`discharged ${o.patient}\n`);
    });
}
