import { useEffect, useState } from 'preact/hooks';
import { ServiceInfo, wesJson } from '../api';
import { ErrorNote } from '../components';
import { parseParams, ParamsFormat, parseTags } from '../lib/params';
import { navigate, uiHref } from '../router';

interface Attachment {
  /** The name sent (and the path the workflow refers to it by): relative to the chosen folder. */
  name: string;
  file: File;
}

/** A file picked in a folder keeps its path below that folder (tools/shout.cwl). */
function attachmentName(file: File): string {
  const rel = (file as File & { webkitRelativePath?: string }).webkitRelativePath;
  return rel ? rel.split('/').slice(1).join('/') : file.name;
}

/** The main workflow among the attachments: a conventional name, else the first workflow document. */
function guessMain(list: Attachment[]): string {
  const docs = list.filter((a) => /\.(cwl|wdl|smk)$|(^|\/)Snakefile$/.test(a.name));
  const conventional = docs.find((a) => /^(main|workflow)\.cwl$/.test(a.name));
  return (conventional ?? docs.find((a) => !a.name.includes('/')) ?? docs[0] ?? list[0])?.name ?? '';
}

type FieldErrors = Partial<Record<'workflow' | 'params' | 'tags' | 'submit', string>>;

export function SubmitPage() {
  const [info, setInfo] = useState<ServiceInfo | undefined>();
  const [infoError, setInfoError] = useState<unknown>();
  const [source, setSource] = useState<'files' | 'url'>('files');
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [main, setMain] = useState('');
  const [url, setUrl] = useState('');
  const [type, setType] = useState('CWL');
  const [typeVersion, setTypeVersion] = useState('');
  const [engine, setEngine] = useState('');
  const [engineParams, setEngineParams] = useState<Record<string, string>>({});
  const [params, setParams] = useState('');
  const [format, setFormat] = useState<ParamsFormat>('json');
  const [tags, setTags] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [sending, setSending] = useState(false);

  useEffect(() => {
    wesJson<ServiceInfo>('service-info').then(setInfo, setInfoError);
  }, []);
  const types = info ? Object.keys(info.workflow_type_versions) : [];
  const versions = info?.workflow_type_versions[type]?.workflow_type_version ?? [];
  useEffect(() => {
    if (versions.length && !versions.includes(typeVersion)) setTypeVersion(versions[versions.length - 1]);
  }, [versions.join(), typeVersion]);

  // The version the main document declares (CWL's cwlVersion), when the server offers it.
  useEffect(() => {
    const file = attachments.find((a) => a.name === main)?.file;
    if (!file || type !== 'CWL') return;
    let live = true;
    file
      .slice(0, 64 * 1024)
      .text()
      .then((text) => {
        const declared = /^\s*["']?cwlVersion["']?\s*:\s*["']?(v[\w.-]+)/m.exec(text)?.[1];
        if (live && declared && versions.includes(declared)) setTypeVersion(declared);
      }, () => undefined);
    return () => {
      live = false;
    };
  }, [main, attachments, type, versions.join()]);

  const addFiles = (files: FileList | null) => {
    if (!files) return;
    const byName = new Map(attachments.map((a) => [a.name, a]));
    for (const file of Array.from(files)) byName.set(attachmentName(file), { name: attachmentName(file), file });
    const list = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
    setAttachments(list);
    if (!list.some((a) => a.name === main)) setMain(guessMain(list));
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const found: FieldErrors = {};
    const parsed = parseParams(params, format);
    if (!parsed.ok) found.params = parsed.error;
    const tagList = parseTags(tags);
    if (!tagList.ok) found.tags = tagList.error;
    if (source === 'files' && !main) found.workflow = 'Choose the workflow file (and the files it uses).';
    if (source === 'url' && !url.trim()) found.workflow = 'Give the workflow URL.';
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = document.querySelector<HTMLElement>('[aria-invalid="true"]');
      first?.focus();
      return;
    }
    const form = new FormData();
    form.append('workflow_type', type);
    form.append('workflow_type_version', typeVersion);
    form.append('workflow_url', source === 'files' ? main : url.trim());
    if (parsed.ok && parsed.json !== undefined) form.append('workflow_params', parsed.json);
    if (tagList.ok && Object.keys(tagList.tags).length) form.append('tags', JSON.stringify(tagList.tags));
    if (engine) form.append('workflow_engine', engine);
    const chosen = Object.fromEntries(Object.entries(engineParams).filter(([, v]) => v !== ''));
    if (Object.keys(chosen).length) form.append('workflow_engine_parameters', JSON.stringify(chosen));
    if (source === 'files') for (const a of attachments) form.append('workflow_attachment', a.file, a.name);
    setSending(true);
    try {
      const { run_id } = await wesJson<{ run_id: string }>('runs', { method: 'POST', body: form });
      navigate(uiHref(`runs/${run_id}`));
    } catch (err) {
      setErrors({ submit: (err as Error).message });
    } finally {
      setSending(false);
    }
  };

  const engines = info ? Object.keys(info.workflow_engine_versions) : [];
  const parameters = [...new Map((info?.default_workflow_engine_parameters ?? []).map((p) => [p.name, p])).values()];
  return (
    <main id="main" tabIndex={-1}>
      <h1>Submit a run</h1>
      <ErrorNote error={infoError} />
      <form class="submit" onSubmit={submit} noValidate>
        <fieldset>
          <legend>Workflow</legend>
          <div class="choice" role="radiogroup" aria-label="Where the workflow comes from">
            <label class="inline">
              <input type="radio" name="source" checked={source === 'files'} onChange={() => setSource('files')} /> Files from this computer
            </label>
            <label class="inline">
              <input type="radio" name="source" checked={source === 'url'} onChange={() => setSource('url')} /> A URL
            </label>
          </div>
          {source === 'files' ? (
            <>
              <label>
                Workflow files (the workflow and what it uses)
                <input type="file" name="files" multiple onChange={(e) => addFiles(e.currentTarget.files)} aria-invalid={errors.workflow ? 'true' : undefined} aria-describedby="workflow-error" />
              </label>
              <label>
                Or a whole folder (sub-folders kept)
                <input type="file" name="folder" {...({ webkitdirectory: true } as object)} onChange={(e) => addFiles(e.currentTarget.files)} />
              </label>
              {attachments.length > 0 && (
                <fieldset class="attachments">
                  <legend>Main workflow</legend>
                  {attachments.map((a) => (
                    <label class="inline block" key={a.name}>
                      <input type="radio" name="main" value={a.name} checked={a.name === main} onChange={() => setMain(a.name)} /> <span class="mono">{a.name}</span>
                    </label>
                  ))}
                  <button type="button" class="link" onClick={() => (setAttachments([]), setMain(''))}>
                    Remove all files
                  </button>
                </fieldset>
              )}
            </>
          ) : (
            <label>
              Workflow URL
              <input type="url" name="workflow_url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://…/workflow.cwl" aria-invalid={errors.workflow ? 'true' : undefined} aria-describedby="workflow-error" />
            </label>
          )}
          <p id="workflow-error" class="field-error" role="alert">
            {errors.workflow ?? ''}
          </p>
          <div class="row">
            <label>
              Type
              <select name="workflow_type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                {(types.length ? types : ['CWL']).map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </label>
            <label>
              Version
              <select name="workflow_type_version" value={typeVersion} onChange={(e) => setTypeVersion(e.currentTarget.value)}>
                {versions.map((v) => (
                  <option key={v}>{v}</option>
                ))}
              </select>
            </label>
          </div>
        </fieldset>

        <fieldset>
          <legend>Params</legend>
          <div class="choice" role="radiogroup" aria-label="Params format">
            <label class="inline">
              <input type="radio" name="format" checked={format === 'json'} onChange={() => setFormat('json')} /> JSON
            </label>
            <label class="inline">
              <input type="radio" name="format" checked={format === 'yaml'} onChange={() => setFormat('yaml')} /> YAML
            </label>
          </div>
          <label>
            Workflow params
            <textarea
              name="workflow_params"
              rows={6}
              class="mono"
              value={params}
              spellcheck={false}
              onInput={(e) => setParams(e.currentTarget.value)}
              onBlur={() => {
                const p = parseParams(params, format);
                setErrors((x) => ({ ...x, params: p.ok ? undefined : p.error }));
              }}
              aria-invalid={errors.params ? 'true' : undefined}
              aria-describedby="params-error"
              placeholder={format === 'json' ? '{"text": {"class": "File", "location": "input.txt"}}' : 'text:\n  class: File\n  location: input.txt'}
            />
          </label>
          <p id="params-error" class="field-error" role="alert">
            {errors.params ?? ''}
          </p>
        </fieldset>

        <fieldset>
          <legend>Engine</legend>
          <label>
            Engine
            <select name="workflow_engine" value={engine} onChange={(e) => setEngine(e.currentTarget.value)}>
              <option value="">the server's default</option>
              {engines.map((e) => (
                <option key={e} value={e}>
                  {e} {info?.workflow_engine_versions[e].workflow_engine_version.join(', ')}
                </option>
              ))}
            </select>
          </label>
          {parameters.length > 0 && (
            <details>
              <summary>Engine parameters (allowed by the server)</summary>
              <div class="params-grid">
                {parameters.map((p) => (
                  <label key={p.name}>
                    <span class="mono">{p.name}</span>
                    {p.type === 'boolean' ? (
                      <select value={engineParams[p.name] ?? ''} onChange={(e) => setEngineParams({ ...engineParams, [p.name]: e.currentTarget.value })}>
                        <option value="">default ({p.default_value})</option>
                        <option value="true">true</option>
                        <option value="false">false</option>
                      </select>
                    ) : (
                      <input
                        value={engineParams[p.name] ?? ''}
                        placeholder={p.default_value ? `default: ${p.default_value}` : ''}
                        onInput={(e) => setEngineParams({ ...engineParams, [p.name]: e.currentTarget.value })}
                      />
                    )}
                  </label>
                ))}
              </div>
            </details>
          )}
        </fieldset>

        <fieldset>
          <legend>Tags</legend>
          <label>
            Tags, one key=value a line
            <textarea name="tags" rows={3} class="mono" value={tags} onInput={(e) => setTags(e.currentTarget.value)} aria-invalid={errors.tags ? 'true' : undefined} aria-describedby="tags-error" />
          </label>
          <p id="tags-error" class="field-error" role="alert">
            {errors.tags ?? ''}
          </p>
        </fieldset>

        <p id="submit-error" class="field-error" role="alert">
          {errors.submit ?? ''}
        </p>
        <button type="submit" class="primary" disabled={sending}>
          {sending ? 'Submitting…' : 'Submit'}
        </button>
      </form>
    </main>
  );
}
