# cn-current: which filings and obligations apply, and the profile facts that trigger them.
# Input: the validated service profile (every key present, defaults filled in).
# Output rules: tier, categories, filings, obligations, notes (sets of {"id", "facts"}).
# Override or extend with `beian classify --rules DIR`: add rules to this package, or
# name ids in `suppress` to drop them.
package beian.regimes.cn_current

import rego.v1

public if input.public_facing

po if input.public_opinion_attributes

alg if count(input.algorithm_types) > 0

ds if count(input.deep_synthesis_functions) > 0

gen if input.generative

provider if input.role == "service-provider"

supporter if input.role == "technical-supporter"

pi if input.processes_personal_information

trains if input.model_source in {"self-developed", "fine-tuned"}

own_model if input.model_source in {"self-developed", "fine-tuned", "open-source-deployed"}

algo_service if {
	public
	alg
}

# the generative or deep-synthesis services that must label output
labels_output if {
	public
	gen
}

labels_output if {
	public
	ds
	provider
}

genai_filed if {
	public
	gen
	po
	own_model
}

genai_registered if {
	public
	gen
	po
	input.model_source == "filed-model-api"
}

art17_functions := {"dialogue", "text-generation", "voice-synthesis", "voice-clone", "voice-conversion", "face-swap", "face-generation", "face-manipulation", "gesture-manipulation", "virtual-scene", "digital-human"}

biometric_functions := {"face-swap", "face-generation", "face-manipulation", "voice-clone", "voice-synthesis", "voice-conversion", "digital-human"}

# ---------------------------------------------------------------- tier and categories
# The tier follows the filings and duties in force on the as-of date: the classifier
# gives their ids as data.in_force (a filing before its instrument existed is no filing).
filings_in_force contains f if {
	some f in filings
	f.id in data.in_force.filings
}

obligations_in_force contains o if {
	some o in obligations
	o.id in data.in_force.obligations
}

tier := "filing-required" if {
	count(filings_in_force) > 0
} else := "not-public" if {
	not public
	gen
	"GENAI-2023" in data.in_force.instruments
} else := "general-duties" if {
	count(obligations_in_force) > 0
} else := "out-of-scope"

categories contains t if {
	algo_service
	some t in input.algorithm_types
}

categories contains "generative-ai-service" if {
	public
	gen
}

categories contains "deep-synthesis-service-provider" if {
	ds
	provider
}

categories contains "deep-synthesis-technical-supporter" if {
	ds
	supporter
}

categories contains "public-opinion-service" if {
	public
	po
}

categories contains "personal-information-processor" if pi

categories contains "sensitive-personal-information" if input.processes_sensitive_personal_information

categories contains "cii-operator" if input.critical_information_infrastructure

categories contains "minors-service" if input.minors_users

# ---------------------------------------------------------------- filings
filings contains {"id": "algo-filing", "facts": ["public_facing", "public_opinion_attributes", "algorithm_types", "role"]} if {
	algo_service
	po
	provider
	not ds
}

filings contains {"id": "deepsyn-provider-filing", "facts": ["public_facing", "public_opinion_attributes", "deep_synthesis_functions", "role"]} if {
	public
	po
	ds
	provider
}

filings contains {"id": "deepsyn-supporter-filing", "facts": ["deep_synthesis_functions", "role"]} if {
	ds
	supporter
}

filings contains {"id": "genai-filing", "facts": ["public_facing", "generative", "public_opinion_attributes", "model_source"]} if genai_filed

filings contains {"id": "genai-registration", "facts": ["public_facing", "generative", "public_opinion_attributes", "model_source"]} if genai_registered

# ---------------------------------------------------------------- CSL / DSL
obligations contains {"id": "csl.21.mlps", "facts": ["public_facing"]} if public

obligations contains {"id": "csl.21.mlps", "facts": ["processes_personal_information"]} if pi

obligations contains {"id": "csl.25.incident-response", "facts": ["public_facing"]} if public

obligations contains {"id": "csl.25.incident-response", "facts": ["processes_personal_information"]} if pi

# A CII operator is a network operator: graded protection (CII is protected on the basis
# of the MLPS, CSL-2017 Art. 31) and the incident plan apply to it too.
obligations contains {"id": id, "facts": ["critical_information_infrastructure"]} if {
	input.critical_information_infrastructure
	some id in {"csl.21.mlps", "csl.25.incident-response"}
}

obligations contains {"id": "csl.24.real-identity", "facts": ["public_facing", "public_opinion_attributes"]} if {
	public
	po
}

obligations contains {"id": "csl.47.content-management", "facts": ["public_facing", "public_opinion_attributes"]} if {
	public
	po
}

obligations contains {"id": id, "facts": ["critical_information_infrastructure"]} if {
	input.critical_information_infrastructure
	some id in {"csl.35.cii-procurement-review", "csl.37.cii-localisation", "dsl.30.important-data-risk-assessment", "dsl.27.data-security-management"}
}

obligations contains {"id": "dsl.27.data-security-management", "facts": ["processes_personal_information"]} if pi

obligations contains {"id": "dsl.27.data-security-management", "facts": ["model_source"]} if trains

# ---------------------------------------------------------------- INCIDENT-2025
# Art. 4: 1 h for incidents involving CII, 2 h for central and state organs, 4 h otherwise.
operator if public

operator if pi

operator if input.critical_information_infrastructure

obligations contains {"id": "incident.4.cii-1h", "facts": ["critical_information_infrastructure"]} if input.critical_information_infrastructure

obligations contains {"id": "incident.4.state-organ-2h", "facts": ["sector"]} if {
	operator
	input.sector == "government"
}

obligations contains {"id": "incident.4.operator-4h", "facts": ["public_facing"]} if {
	public
	not input.critical_information_infrastructure
}

obligations contains {"id": "incident.4.operator-4h", "facts": ["processes_personal_information"]} if {
	pi
	not input.critical_information_infrastructure
}

# ---------------------------------------------------------------- NDSMR-2024
obligations contains {"id": "ndsmr.19.genai-training-data", "facts": ["generative", "model_source"]} if {
	gen
	trains
}

obligations contains {"id": "ndsmr.28.ten-million", "facts": ["processes_personal_information", "registered_users"]} if {
	pi
	input.registered_users >= 10000000
}

# 10 million monthly active users are at least 10 million people whose information is
# processed, whatever the number of registered accounts.
obligations contains {"id": "ndsmr.28.ten-million", "facts": ["processes_personal_information", "monthly_active_users"]} if {
	pi
	input.monthly_active_users >= 10000000
}

# ---------------------------------------------------------------- PIPL
# Automated decisions are inferred from the facts as well as from `automated_decisions`:
# ranking or scheduling people in employment is an automated decision about them.
employment_decisions if {
	input.sector == "employment"
	some t in input.algorithm_types
	t in {"sorting-selection", "scheduling-decision", "retrieval-filtering"}
}

employment_decisions if {
	some u in input.eu_practices
	u in {"recruitment", "worker-management"}
}

# Ranking or screening candidates and workers processes their personal information,
# whether or not the profile says so.
obligations contains {"id": id, "facts": ["sector", "algorithm_types"]} if {
	employment_decisions
	not employment_by_use
	some id in {"pipl.24.automated-decisions", "pipl.55.pia"}
}

employment_by_use if {
	some u in input.eu_practices
	u in {"recruitment", "worker-management"}
}

obligations contains {"id": id, "facts": ["eu_practices"]} if {
	employment_by_use
	some id in {"pipl.24.automated-decisions", "pipl.55.pia"}
}

# Ranking candidates is processing their personal information: the basic PIPL duties
# follow even when the profile does not say so.
obligations contains {"id": id, "facts": ["sector", "algorithm_types"]} if {
	employment_decisions
	not pi
	some id in {"pipl.13.legal-basis", "pipl.17.notice", "pipl.57.breach-notice"}
}

categories contains "personal-information-processor" if employment_decisions

obligations contains {"id": "pipl.57.breach-notice", "facts": ["processes_personal_information"]} if pi

# A processor abroad serving people in China (PIPL Art. 3 para. 2) names a body or
# representative in China.
obligations contains {"id": "pipl.53.domestic-representative", "facts": ["provider_location", "public_facing", "processes_personal_information"]} if {
	public
	pi
	input.provider_location != "CN"
}

obligations contains {"id": "pipl.39.cross-border-consent", "facts": ["cross_border_personal_information"]} if input.cross_border_personal_information

obligations contains {"id": id, "facts": ["processes_personal_information"]} if {
	pi
	some id in {"pipl.13.legal-basis", "pipl.17.notice"}
}

obligations contains {"id": "pipl.24.automated-decisions", "facts": ["processes_personal_information", "automated_decisions"]} if {
	pi
	input.automated_decisions
}

obligations contains {"id": "pipl.24.automated-decisions", "facts": ["processes_personal_information", "algorithm_types"]} if {
	pi
	"personalized-push" in input.algorithm_types
}

obligations contains {"id": "pipl.24.automated-decisions", "facts": ["processes_personal_information", "dynamic_pricing"]} if {
	pi
	input.dynamic_pricing
}

obligations contains {"id": "pipl.29.sensitive-consent", "facts": ["processes_sensitive_personal_information"]} if input.processes_sensitive_personal_information

obligations contains {"id": "pipl.29.sensitive-consent", "facts": ["biometric_editing"]} if input.biometric_editing

obligations contains {"id": "pipl.31.minors-under-14", "facts": ["minors_users", "processes_personal_information"]} if {
	input.minors_users
	pi
}

obligations contains {"id": "pipl.38.cross-border", "facts": ["cross_border_personal_information"]} if input.cross_border_personal_information

obligations contains {"id": "pipl.40.security-assessment", "facts": ["cross_border_personal_information", "critical_information_infrastructure"]} if {
	input.cross_border_personal_information
	input.critical_information_infrastructure
}

obligations contains {"id": "pipl.40.security-assessment", "facts": ["cross_border_personal_information", "registered_users"]} if {
	input.cross_border_personal_information
	input.registered_users >= 1000000
}

obligations contains {"id": "pipl.55.pia", "facts": ["processes_sensitive_personal_information"]} if input.processes_sensitive_personal_information

obligations contains {"id": "pipl.55.pia", "facts": ["processes_personal_information", "automated_decisions"]} if {
	pi
	input.automated_decisions
}

obligations contains {"id": "pipl.55.pia", "facts": ["processes_personal_information", "algorithm_types"]} if {
	pi
	"personalized-push" in input.algorithm_types
}

obligations contains {"id": "pipl.55.pia", "facts": ["cross_border_personal_information"]} if input.cross_border_personal_information

# Personal information of children under 14 is sensitive (PIPL Art. 28 para. 1): the
# same facts that bring Art. 31 bring the impact assessment of Art. 55(1).
obligations contains {"id": "pipl.55.pia", "facts": ["minors_users", "processes_personal_information"]} if {
	input.minors_users
	pi
}

obligations contains {"id": "pipl.58.gatekeeper", "facts": ["processes_personal_information", "registered_users"]} if {
	pi
	input.registered_users >= 50000000
}

obligations contains {"id": "pipl.58.gatekeeper", "facts": ["processes_personal_information", "monthly_active_users"]} if {
	pi
	input.monthly_active_users >= 10000000
}

# ---------------------------------------------------------------- SECASSESS
obligations contains {"id": id, "facts": ["public_facing", "public_opinion_attributes"]} if {
	public
	po
	some id in {"secassess.3.self-assessment", "secassess.7.submit-report"}
}

# ---------------------------------------------------------------- ALGO
obligations contains {"id": id, "facts": ["public_facing", "algorithm_types"]} if {
	algo_service
	provider
	some id in {"algo.7.security-responsibility", "algo.8.periodic-review", "algo.9.feature-library-labels", "algo.16.disclosure", "algo.22.complaints", "algo.28.logs-cooperation"}
}

obligations contains {"id": "algo.15.fair-competition", "facts": ["public_facing", "algorithm_types"]} if {
	algo_service
	some t in input.algorithm_types
	t in {"sorting-selection", "retrieval-filtering", "personalized-push"}
}

obligations contains {"id": "algo.13.news-licence", "facts": ["sector", "algorithm_types"]} if {
	alg
	input.sector == "news"
}

obligations contains {"id": "algo.17.opt-out", "facts": ["public_facing", "algorithm_types"]} if {
	algo_service
	some t in input.algorithm_types
	t in {"personalized-push", "sorting-selection"}
}

obligations contains {"id": "algo.18.minors", "facts": ["public_facing", "algorithm_types", "minors_users"]} if {
	algo_service
	input.minors_users
}

obligations contains {"id": "algo.19.elderly", "facts": ["public_facing", "algorithm_types", "elderly_users"]} if {
	algo_service
	input.elderly_users
}

obligations contains {"id": "algo.20.workers", "facts": ["dispatches_workers"]} if input.dispatches_workers

obligations contains {"id": "algo.21.consumers", "facts": ["dynamic_pricing"]} if input.dynamic_pricing

obligations contains {"id": id, "facts": f.facts} if {
	some f in filings
	f.id in {"algo-filing", "deepsyn-provider-filing", "deepsyn-supporter-filing"}
	some id in {"algo.24.change-cancel", "algo.26.display-number"}
}

obligations contains {"id": "algo.27.security-assessment", "facts": ["public_facing", "public_opinion_attributes", "algorithm_types"]} if {
	algo_service
	po
}

# ---------------------------------------------------------------- DEEPSYN
obligations contains {"id": "deepsyn.9.real-identity", "facts": ["public_facing", "deep_synthesis_functions", "role"]} if {
	public
	ds
	provider
}

obligations contains {"id": "deepsyn.14.training-data", "facts": ["deep_synthesis_functions"]} if ds

obligations contains {"id": "deepsyn.14.biometric-consent", "facts": ["biometric_editing"]} if input.biometric_editing

obligations contains {"id": "deepsyn.15.biometric-model-assessment", "facts": ["deep_synthesis_functions"]} if {
	some f in input.deep_synthesis_functions
	f in biometric_functions
}

obligations contains {"id": "deepsyn.16.marks", "facts": ["deep_synthesis_functions", "role"]} if {
	ds
	provider
}

obligations contains {"id": "deepsyn.17.prominent-labels", "facts": ["deep_synthesis_functions"]} if {
	provider
	some f in input.deep_synthesis_functions
	f in art17_functions
}

obligations contains {"id": "deepsyn.20.new-function-assessment", "facts": ["public_facing", "public_opinion_attributes", "deep_synthesis_functions"]} if {
	public
	po
	ds
}

# ---------------------------------------------------------------- GENAI
obligations contains {"id": id, "facts": ["public_facing", "generative"]} if {
	public
	gen
	some id in {"genai.4.content", "genai.9.service-agreement", "genai.10.users-minors", "genai.11.user-input", "genai.14.illegal-content", "genai.15.complaints"}
}

obligations contains {"id": id, "facts": ["public_facing", "generative", "model_source"]} if {
	public
	gen
	trains
	some id in {"genai.7.training-data", "genai.8.annotation"}
}

obligations contains {"id": "genai.12.labeling", "facts": ["public_facing", "generative", "modalities"]} if {
	public
	gen
	count(input.modalities) > 0
}

obligations contains {"id": id, "facts": ["public_facing", "generative", "public_opinion_attributes"]} if {
	public
	gen
	po
	some id in {"genai.17.security-assessment", "genai.17.display-filed-model"}
}

# ---------------------------------------------------------------- LABEL / GB 45438
obligations contains {"id": id, "facts": ["public_facing", "generative", "deep_synthesis_functions"]} if {
	labels_output
	some id in {"label.4.explicit", "label.5.implicit", "label.8.user-agreement", "label.10.no-removal"}
}

obligations contains {"id": id, "facts": ["public_facing", "generative", "modalities"]} if {
	labels_output
	count(input.modalities) > 0
	some id in {"gb45438.explicit-methods", "gb45438.annex-e.metadata"}
}

obligations contains {"id": "label.9.unlabelled-on-request", "facts": ["public_facing", "generative", "deep_synthesis_functions"]} if labels_output

obligations contains {"id": "label.12.filing-materials", "facts": f.facts} if {
	labels_output
	some f in filings
}

obligations contains {"id": "label.7.app-store", "facts": ["app_distribution_platform"]} if input.app_distribution_platform

obligations contains {"id": "label.6.platform", "facts": ["public_facing", "public_opinion_attributes", "sector"]} if {
	public
	po
	input.sector in {"news", "social-media", "entertainment"}
}

# ---------------------------------------------------------------- GB/T 45654
obligations contains {"id": id, "facts": f.facts} if {
	some f in filings
	f.id in {"genai-filing", "genai-registration"}
	some id in {"gbt45654.keyword-library", "gbt45654.test-banks", "gbt45654.assessment"}
}

obligations contains {"id": "gbt45654.training-data", "facts": ["public_facing", "generative", "public_opinion_attributes", "model_source"]} if {
	genai_filed
	trains
}

# ---------------------------------------------------------------- ETHICS
obligations contains {"id": "ethics.25.public-opinion-models", "facts": ["research_and_development", "public_opinion_attributes"]} if {
	input.research_and_development
	po
}

obligations contains {"id": "ethics.25.autonomous-decisions", "facts": ["research_and_development", "algorithm_types", "sector"]} if {
	input.research_and_development
	"scheduling-decision" in input.algorithm_types
	input.sector in {"transport", "healthcare"}
}

# ---------------------------------------------------------------- MINORS
obligations contains {"id": "minors.24.no-automated-marketing", "facts": ["minors_users", "algorithm_types"]} if {
	input.minors_users
	"personalized-push" in input.algorithm_types
}

obligations contains {"id": "minors.24.no-automated-marketing", "facts": ["minors_users", "automated_decisions"]} if {
	input.minors_users
	input.automated_decisions
}

obligations contains {"id": id, "facts": ["public_facing", "minors_users"]} if {
	public
	input.minors_users
	some id in {"minors.42.anti-addiction", "minors.42.annual-report"}
}

# Art. 43 names online games, live-streaming, audio-video and social services.
minors_mode_service if input.sector in {"entertainment", "social-media"}

minors_mode_service if "digital-human" in input.deep_synthesis_functions

obligations contains {"id": "minors.43.minors-mode", "facts": ["public_facing", "minors_users", "sector"]} if {
	public
	input.minors_users
	minors_mode_service
}

# ---------------------------------------------------------------- notes
notes contains {"id": "genai.2.not-public", "facts": ["public_facing", "generative"]} if {
	not public
	gen
}

notes contains {"id": "public-opinion-practice", "facts": ["public_facing", "generative", "public_opinion_attributes"]} if {
	public
	gen
	not po
}

notes contains {"id": "foreign-provider", "facts": ["provider_location", "public_facing"]} if {
	public
	input.provider_location != "CN"
}
