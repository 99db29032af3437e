# cn-cass-draft: the CASS model AI law 2.0: negative list -> licence, otherwise filing.
# The list's content is not public: candidates below are beian's indicators, flagged unconfirmed.
package beian.regimes.cn_cass_draft

import rego.v1

active if input.public_facing

active if input.research_and_development

# a provider established in mainland China develops or provides AI there, public or not
active if input.provider_location == "CN"

active_facts contains "public_facing" if input.public_facing

active_facts contains "research_and_development" if input.research_and_development

active_facts contains "provider_location" if input.provider_location == "CN"

biometric_ds := {"face-swap", "face-generation", "face-manipulation", "voice-clone", "digital-human"}

candidate_facts contains "critical_information_infrastructure" if input.critical_information_infrastructure

candidate_facts contains "general_purpose_model" if input.general_purpose_model

candidate_facts contains "deep_synthesis_functions" if {
	some f in input.deep_synthesis_functions
	f in biometric_ds
}

candidate_facts contains "sector" if input.sector in {"healthcare", "transport", "critical-infrastructure", "justice"}

listed if {
	active
	count(candidate_facts) > 0
}

negative_list := {"status": "likely-listed", "facts": sort(candidate_facts), "unconfirmed": true} if listed

negative_list := {"status": "not-listed", "facts": [], "unconfirmed": true} if {
	active
	not listed
}

tier := "licence" if listed else := "filing" if active else := "out-of-scope"

categories contains "negative-list-candidate" if listed

categories contains "off-list" if {
	active
	not listed
}

categories contains "open-source" if input.model_source == "open-source-deployed"

filings contains {"id": "cass-licence", "facts": sort(candidate_facts)} if listed

filings contains {"id": "cass-filing", "facts": [k]} if {
	active
	not listed
	some k in active_facts
}

obligations contains {"id": "cass.licence-conditions", "facts": sort(candidate_facts)} if listed

obligations contains {"id": "cass.developer-provider-duties", "facts": [k]} if {
	some k in active_facts
}

obligations contains {"id": "cass.open-source-mitigation", "facts": ["model_source"]} if {
	active
	input.model_source == "open-source-deployed"
}

notes contains {"id": "negative-list-unconfirmed", "facts": []} if active

notes contains {"id": "not-law", "facts": []} if true
