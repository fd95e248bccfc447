/**
 * Keyset paging in both directions over an API that only goes forward: the tokens of the
 * pages walked so far, as a stack. Page 1 has the empty token; Next pushes the page's
 * next_page_token, Previous pops.
 */
export type PageTokens = readonly string[];

export const FIRST_PAGE: PageTokens = [''];

export const currentToken = (pages: PageTokens): string => pages[pages.length - 1] ?? '';
export const pageNumber = (pages: PageTokens): number => pages.length;
export const hasPrevious = (pages: PageTokens): boolean => pages.length > 1;
export const next = (pages: PageTokens, nextPageToken: string): PageTokens => (nextPageToken ? [...pages, nextPageToken] : pages);
export const previous = (pages: PageTokens): PageTokens => (pages.length > 1 ? pages.slice(0, -1) : pages);
