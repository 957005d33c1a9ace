package diff

// Markers that replace Secret values. They have a fixed length, so even the size of a
// value does not leak; a changed value shows as a changed line without its content.
const (
	maskedValue  = "***"
	maskedChange = "*** (changed)"
)

// maskSecrets replaces the values of data in each side that is a Secret. A key whose
// value differs between the sides gets maskedValue on the live side and maskedChange on
// the desired side, so the diff shows which keys change but never what they hold. Both
// maps are normalised copies and are changed in place.
func maskSecrets(live, desired map[string]any) {
	liveData := secretData(live)
	desiredData := secretData(desired)
	for k, v := range desiredData {
		old, inLive := liveData[k]
		if inLive && !sameValue(old, v) {
			desiredData[k] = maskedChange
		} else {
			desiredData[k] = maskedValue
		}
	}
	for k := range liveData {
		liveData[k] = maskedValue
	}
}

// secretData returns the data map of a Secret, or nil for anything else. Normalize has
// already folded stringData into data; any stringData left (an object that was not
// normalised) is masked too, and a data or stringData that is not a map is replaced
// whole, so no shape of input lets a value through.
func secretData(obj map[string]any) map[string]any {
	if obj == nil || !isSecret(obj) {
		return nil
	}
	for _, field := range []string{"data", "stringData"} {
		v, present := obj[field]
		if !present {
			continue
		}
		if _, ok := v.(map[string]any); !ok {
			obj[field] = maskedValue
		}
	}
	if sd, ok := obj["stringData"].(map[string]any); ok {
		for k := range sd {
			sd[k] = maskedValue
		}
	}
	data, _ := obj["data"].(map[string]any)
	return data
}

func sameValue(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	return aok && bok && as == bs
}

// MaskSecret replaces every value of a Secret's data and stringData with the mask, in
// place; any other object is left as it is. `landfall render` prints with it.
func MaskSecret(obj map[string]any) {
	data := secretData(obj)
	for k := range data {
		data[k] = maskedValue
	}
}
