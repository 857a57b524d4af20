/** `wardstream admit`: assigns a patient to a ward (and bed) on the patient-assignments topic. */
import type { Command } from 'commander';
import { WardstreamError } from '../../common/errors.ts';
import { partitionForWard } from '../../schemas/topics.ts';
import { writeAssignment } from '../assignment.ts';
import type { CliContext } from '../context.ts';
import { collect } from '../options.ts';

export function registerAdmit(program: Command, ctx: CliContext): void {
  program
    .command('admit')
    .description('assign a patient to a ward (and bed)')
    .requiredOption('--patient <id>', 'patient id')
    .requiredOption('--ward <ward>', 'ward', collect)
    .option('--bed <bed>', 'bed')
    .action(async (o: { patient: string; ward: string[]; bed?: string }) => {
      if (o.ward.length !== 1) throw new WardstreamError('CLI_ERR_USAGE', 'admit needs exactly one --ward');
      const ward = o.ward[0]!;
      const partitions = await writeAssignment(ctx, 'admit', o.patient, { ward, bed: o.bed ?? null });
      ctx.out(`admitted ${o.patient} to ${ward}${o.bed ? ` bed ${o.bed}` : ''} (partition ${partitionForWard(ward, partitions)})\n`);
    });
}
