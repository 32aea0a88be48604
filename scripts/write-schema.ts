// Writes the policy bundle's JSON Schema for editors from the one TypeBox source.
import { writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../src/engine/policy/schema';
import { registeredStyles } from '../src/providers/registry';

writeFileSync('schemas/tollgate-policy.schema.json', `${JSON.stringify(policyJsonSchema(registeredStyles()), null, 2)}\n`);
