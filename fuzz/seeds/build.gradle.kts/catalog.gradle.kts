plugins {
    alias(libs.plugins.kotlin.jvm)
    alias(libs.plugins.spotless) apply false
    id("com.google.devtools.ksp") version "2.0.21-1.0.25"
}

dependencies {
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.androidx.core.ktx)
    api(libs.okhttp.get())
    ksp(libs.kotlinx.coroutines.core)
    testImplementation(libs.bundles.testing)
    implementation(projects.core)
}

testing.suites {
    named<JvmTestSuite>("test") {
        useJUnitJupiter(libs.versions.junit)
        dependencies {
            implementation.bundle(libs.bundles.testing)
            runtimeOnly(testing.libs.mockk)
        }
    }
}
