package session

// Provider names a provider family, as stored in the provider column.
type Provider string

const (
	// ProviderFortID is the FortID Verifier Service.
	ProviderFortID Provider = "fortid"
	// ProviderMarksign is the Marksign gateway (Smart-ID and Mobile-ID).
	ProviderMarksign Provider = "marksign"
)

// Flow names one status endpoint of a provider, as stored in the flow
// column.
type Flow string

const (
	// FlowFortIDVerification is FortID's verification session status.
	FlowFortIDVerification Flow = "verification"
	// FlowSmartIDIdentification is Marksign's Smart-ID identification status.
	FlowSmartIDIdentification Flow = "smartid_identification"
	// FlowSmartIDSigning is Marksign's Smart-ID signing status.
	FlowSmartIDSigning Flow = "smartid_signing"
	// FlowSmartIDHashSigning is Marksign's Smart-ID hash signing status.
	FlowSmartIDHashSigning Flow = "smartid_hash_signing"
	// FlowMobileIDIdentification is Marksign's Mobile-ID identification status.
	FlowMobileIDIdentification Flow = "mobileid_identification"
	// FlowMobileIDSigning is Marksign's Mobile-ID signing status.
	FlowMobileIDSigning Flow = "mobileid_signing"
	// FlowMobileIDHashSigning is Marksign's Mobile-ID hash signing status.
	FlowMobileIDHashSigning Flow = "mobileid_hash_signing"
)

// Providers returns every provider, in the order pollhook lists them.
func Providers() []Provider { return []Provider{ProviderFortID, ProviderMarksign} }

// FlowsOf returns the flows of provider p (nil for an unknown provider).
func FlowsOf(p Provider) []Flow {
	switch p {
	case ProviderFortID:
		return []Flow{FlowFortIDVerification}
	case ProviderMarksign:
		return []Flow{FlowSmartIDIdentification, FlowSmartIDSigning, FlowSmartIDHashSigning,
			FlowMobileIDIdentification, FlowMobileIDSigning, FlowMobileIDHashSigning}
	}
	return nil
}

// Flows returns the flows of every provider.
func Flows() []Flow {
	var all []Flow
	for _, p := range Providers() {
		all = append(all, FlowsOf(p)...)
	}
	return all
}

// ProviderOf returns the provider a flow belongs to, "" if none.
func ProviderOf(f Flow) Provider {
	for _, p := range Providers() {
		for _, pf := range FlowsOf(p) {
			if pf == f {
				return p
			}
		}
	}
	return ""
}
