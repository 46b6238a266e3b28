import semver from 'semver';

/**
 * The version a device reports (fw_version), as semver sees it: a valid version as it
 * is ("1.10.0", "2.0.0-rc.1"), else coerced ("v2.1" → 2.1.0, "1.2.3.4" → 1.2.3); null
 * when there is none in it.
 */
export function deviceVersion(reported: string | null): string | null {
  if (!reported) return null;
  return semver.valid(reported, { loose: true }) ?? semver.coerce(reported, { loose: true })?.version ?? null;
}

/** Whether `range` parses as a semver range ("<2.0.0", ">=1.2 <1.4", "1.x"). */
export const isVersionRange = (range: string): boolean => semver.validRange(range, { loose: true }) !== null;

/**
 * Whether a reported version falls in the range, compared as versions (1.10.0 is above
 * 1.9.0), prereleases included (2.0.0-rc.1 is below 2.0.0). No version, no match.
 */
export function firmwareMatches(range: string, reported: string | null): boolean {
  const v = deviceVersion(reported);
  return v !== null && semver.satisfies(v, range, { loose: true, includePrerelease: true });
}
