/**
 * What the signed-in admin needs, per kind of write (docs/setup.md). The Exchange identifiers and the
 * directory roles setup assigns are in `src/auth/roles.ts`, the one table every feature reads.
 */
export const ADMIN_ROLE_NEEDED = {
  application: "Application Administrator (or Cloud Application Administrator), or Global Administrator",
  consent: "Application Administrator or Privileged Role Administrator, or Global Administrator",
  role: "Privileged Role Administrator, or Global Administrator",
} as const;
