/**
 * Option values shared by several commands, parsed once (commander calls these while parsing;
 * an InvalidArgumentError becomes `wardstream: CLI_ERR_USAGE: …`).
 */
import { InvalidArgumentError, Option } from 'commander';
import { SCENARIOS, type Scenario } from '../tools/simulator.ts';

/** A number >= min ("1", "0.5"); commander's argParser. */
export function numberAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number >= ${min}`);
    return n;
  };
}

/** Repeatable option: every occurrence is kept, in order. */
export const collect = (value: string, previous: readonly string[] = []): string[] => [...previous, value];

export type ScenarioChoice = Scenario | 'mixed';

export const scenarioOption = (dflt?: ScenarioChoice) => {
  const o = new Option('--scenario <name>', 'scripted events on some patients').choices([...SCENARIOS, 'mixed']);
  return dflt ? o.default(dflt) : o;
};

/** The simulator's cohort options, shared by `start` and `simulate`. */
export function cohortOptions(d: { patients: number; wards: number }): Option[] {
  return [
    new Option('--patients <n>', 'simulated patients').argParser(numberAtLeast(1)).default(d.patients),
    new Option('--wards <n>', 'wards they are spread over (ward-1 …)').argParser(numberAtLeast(1)).default(d.wards),
    new Option('--rate <n>', 'readings per patient per second').argParser(numberAtLeast(0.01)).default(1),
    new Option('--seed <n>', 'seed of the deterministic cohort').argParser(numberAtLeast(0)).default(1),
  ];
}

export interface CohortValues {
  readonly patients: number;
  readonly wards: number;
  readonly rate: number;
  readonly seed: number;
  readonly scenario?: ScenarioChoice;
}
