/**
 * The processors' rule book, reloaded when its file changes: a valid new file replaces the
 * rules for readings processed from then on; an invalid one is logged and the rules in force
 * stay. A rule book given by the caller (tests, replay) is used as it is, never reloaded.
 */
import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from '../../common/log.ts';
import { loadRuleFile, type RuleBook } from '../rulebook.ts';

export interface RuleSource {
  /** The rules in force. */
  readonly book: RuleBook;
  close(): void;
}

export function watchRuleFile(file: string, log: Logger, fixed?: RuleBook): RuleSource {
  let book = fixed ?? loadRuleFile(file);
  let watcher: FSWatcher | null = null;
  if (!fixed) {
    watcher = watch(file, { persistent: false }, () => {
      try {
        const next = loadRuleFile(file);
        if (next.version !== book.version) {
          book = next;
          log.info('rule file reloaded', { version: book.version });
        }
      } catch (e) {
        log.error('rule file rejected; keeping the current rules', { err: e as Error });
      }
    });
  }
  return {
    get book() {
      return book;
    },
    close() {
      watcher?.close();
    },
  };
}
