import * as vscode from 'vscode';
import type { TollgateConfig } from './core/config';
import { parseConfiguration } from './core/config';

/** All of Tollgate's settings, read once per change into one typed object. */
export function readConfiguration(scope?: vscode.ConfigurationScope): TollgateConfig {
  const section = vscode.workspace.getConfiguration('tollgate', scope);
  return parseConfiguration((key) => section.get(key));
}
