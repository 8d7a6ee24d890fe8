/**
 * Watches a config file and calls `onChange` once per burst of edits (debounced). Editors that
 * replace the file (rename) are handled by watching the directory for the file's name. Never throws:
 * a directory that cannot be watched, or a watch that fails later (the directory removed), is
 * reported through `onError` and the watch ends.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatch {
  close(): void;
}

export function watchFile(path: string, onChange: () => void, onError: (message: string) => void, debounceMs = 50): FileWatch {
  const name = basename(path);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file !== null && file.toString() !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        onChange();
      }, debounceMs);
    });
  } catch (error) {
    onError((error as Error).message);
    return { close() {} };
  }
  watcher.on('error', (error: Error) => {
    watcher.close();
    onError(error.message);
  });
  return {
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      watcher.close();
    },
  };
}
