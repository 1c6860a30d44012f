/** Captioned tables of a report section, as text and as HTML (report.ts places them). */
export interface TableSection {
  caption: string;
  header: string[];
  rows: string[][];
}

export function sectionsText(title: string, sections: readonly TableSection[], table: (header: string[], rows: string[][]) => string[]): string[] {
  if (sections.length === 0) return [];
  return ['', `== ${title}`, ...sections.flatMap((s) => ['', s.caption, ...table(s.header, s.rows)])];
}

export function sectionsHtml(title: string, sections: readonly TableSection[], esc: (s: string) => string): string {
  if (sections.length === 0) return '';
  const one = (s: TableSection): string =>
    `<p>${esc(s.caption)}</p><table><tr>${s.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${s.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  return `<h2>${esc(title)}</h2>${sections.map(one).join('')}`;
}
