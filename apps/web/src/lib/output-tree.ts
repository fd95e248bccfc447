/** An output file as GET /runs/{id}/outputs lists it. */
export interface OutputFile {
  path: string;
  size: number;
  url: string;
}

export interface OutputNode {
  name: string;
  path: string;
  /** A file's size, or the total of a folder's files. */
  size: number;
  /** A file's download URL; undefined for a folder. */
  url?: string;
  children: OutputNode[];
}

/** The flat listing as a tree of folders (folders first, then files, each by name). */
export function outputTree(files: readonly OutputFile[]): OutputNode[] {
  const root: OutputNode = { name: '', path: '', size: 0, children: [] };
  for (const f of files) {
    const parts = f.path.split('/').filter(Boolean);
    let node = root;
    node.size += f.size;
    for (let i = 0; i < parts.length - 1; i++) {
      const path = parts.slice(0, i + 1).join('/');
      let child = node.children.find((c) => c.url === undefined && c.name === parts[i]);
      if (!child) {
        child = { name: parts[i], path, size: 0, children: [] };
        node.children.push(child);
      }
      child.size += f.size;
      node = child;
    }
    node.children.push({ name: parts[parts.length - 1] ?? f.path, path: f.path, size: f.size, url: f.url, children: [] });
  }
  const sort = (nodes: OutputNode[]) => {
    nodes.sort((a, b) => Number(a.url !== undefined) - Number(b.url !== undefined) || a.name.localeCompare(b.name));
    nodes.forEach((n) => sort(n.children));
  };
  sort(root.children);
  return root.children;
}
