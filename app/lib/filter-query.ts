/**
 * The query string a list page hands to its CSV export: the filter fields as they are in the URL,
 * so the file holds exactly what the page lists (every match, not just the page).
 */
export function filterQuery(
  values: Record<string, string | undefined>,
  keys: readonly string[],
  { keepEmpty }: { keepEmpty: boolean },
): string {
  return new URLSearchParams(
    keys.flatMap((k) => {
      const v = values[k];
      return v !== undefined && (keepEmpty || v !== "") ? [[k, v] as [string, string]] : [];
    }),
  ).toString();
}
