// A modal on the native <dialog>: the browser handles focus, Escape and the backdrop. Mount it
// only while it is open; it opens itself on mount.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

interface Props {
  title: string;
  onClose: () => void;
  onSubmit: () => void;
  children: ComponentChildren;
  footer: ComponentChildren;
  testId?: string;
}

export function Dialog({ title, onClose, onSubmit, children, footer, testId }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class="modal"
      data-testid={testId}
      onCancel={(e) => { e.preventDefault(); onClose(); }}
      onClick={(e) => { if (e.target === ref.current) onClose(); }}
    >
      <form method="dialog" onSubmit={(e) => { e.preventDefault(); onSubmit(); }}>
        <h3>{title}</h3>
        <div class="dialog-body">{children}</div>
        <div class="dialog-foot">{footer}</div>
      </form>
    </dialog>
  );
}
