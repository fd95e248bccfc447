import type { AnchorHTMLAttributes, ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Client routes live under the path the API serves the dashboard at (it answers index.html for all of them). */
export const UI_BASE = '/ga4gh/wes/v1/ui';

export type Route = { page: 'runs' } | { page: 'run'; runId: string } | { page: 'submit' } | { page: 'service' } | { page: 'missing' };

export function routeOf(pathname: string): Route {
  const rest = pathname.startsWith(UI_BASE) ? pathname.slice(UI_BASE.length).replace(/^\/+|\/+$/g, '') : '';
  if (rest === '' || rest === 'runs') return { page: 'runs' };
  if (rest === 'submit') return { page: 'submit' };
  if (rest === 'service') return { page: 'service' };
  const run = /^runs\/([^/]+)$/.exec(rest);
  if (run) return { page: 'run', runId: decodeURIComponent(run[1]) };
  return { page: 'missing' };
}

export const uiHref = (path: string) => `${UI_BASE}/${path.replace(/^\/+/, '')}`;

export function navigate(href: string): void {
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.pathname));
  useEffect(() => {
    const update = () => setRoute(routeOf(location.pathname));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** A link inside the dashboard: a real <a> (keyboard, new tab), navigated without a reload. */
export function Link(props: { href: string; children: ComponentChildren } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const { href, children, ...rest } = props;
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a {...rest} href={href} onClick={onClick}>
      {children}
    </a>
  );
}
