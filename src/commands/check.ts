// `pgwarden check`: placeholder until implemented.
import type { Command } from 'commander';

export function register(program: Command): void {
  void program;
}
