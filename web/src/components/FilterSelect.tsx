/** A labelled select of the log and event filters: "all" (the empty value) and the options. */
export function FilterSelect({
  label,
  testId,
  value,
  options,
  onChange,
  optionLabel = (o) => o,
}: {
  label: string
  testId: string
  value: string
  options: readonly string[]
  onChange: (value: string) => void
  optionLabel?: (option: string) => string
}) {
  return (
    <label className="inline-label">
      {label}{' '}
      <select data-testid={testId} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">all</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {optionLabel(o)}
          </option>
        ))}
      </select>
    </label>
  )
}
