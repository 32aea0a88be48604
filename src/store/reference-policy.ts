import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The reference bundle shipped with Tollgate, used when no policy is given. Found by walking up
 * from this module because it sits at a different depth in the source tree and in the bundle.
 */
export function referencePolicyPath(from: string = __dirname): string {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'policies', 'reference.yaml');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('the reference policy (policies/reference.yaml) is missing from this installation');
}
